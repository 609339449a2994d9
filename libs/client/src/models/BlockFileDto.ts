/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type BlockFileDto = {
    /**
     * Modification time, milliseconds since the epoch (whole milliseconds, rounded down)
     */
    mtime_ms: number;
    /**
     * Path relative to the block folder, '/'-separated
     */
    path: string;
    /**
     * Bytes
     */
    size: number;
};

