/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { BlockDto } from './BlockDto';
import type { OtherEntryDto } from './OtherEntryDto';
export type SnapshotContentsDto = {
    /**
     * The TSDB blocks, sorted by ULID
     */
    blocks: Array<BlockDto>;
    name: string;
    /**
     * Every other top-level entry, sorted by name
     */
    other: Array<OtherEntryDto>;
};

