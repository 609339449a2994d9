/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { BlockFileDto } from './BlockFileDto';
export type BlockDto = {
    /**
     * Sum of the sizes of its files
     */
    bytes: number;
    /**
     * compaction.level from meta.json (0 if absent)
     */
    compaction_level: number;
    /**
     * Its regular files, sorted by path
     */
    files: Array<BlockFileDto>;
    /**
     * maxTime from meta.json (exclusive), milliseconds since the epoch
     */
    max_time: number;
    /**
     * minTime from meta.json, milliseconds since the epoch
     */
    min_time: number;
    /**
     * stats.numChunks from meta.json (0 if absent)
     */
    num_chunks: number;
    /**
     * stats.numSamples from meta.json (0 if absent)
     */
    num_samples: number;
    /**
     * stats.numSeries from meta.json (0 if absent)
     */
    num_series: number;
    /**
     * Block ULID: the folder name, equal to the ulid in its meta.json
     */
    ulid: string;
};

