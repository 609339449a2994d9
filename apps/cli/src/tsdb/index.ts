// TSDB blocks: read out of prombackup archives safely, found in data folders, and those folders
// locked against a running Prometheus; shared by restore, verify and sync.
export * from './archive-compression';
export * from './archive-reader';
export * from './block-meta';
export * from './block-names';
export * from './local-blocks';
export * from './tsdb-lock';
