export * from './boolean';
export * from './duration';
export * from './formats';
export * from './http';
export * from './snapshot-name';
export * from './units';
export * from './block-ulid';
export * from './worker-module';
