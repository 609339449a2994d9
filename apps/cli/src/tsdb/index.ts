// Reading TSDB blocks out of prombackup archives safely; shared by restore, verify and sync.
export * from './archive-compression';
export * from './archive-reader';
export * from './block-meta';
export * from './block-names';
