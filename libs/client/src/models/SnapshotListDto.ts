/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { SnapshotInfoDto } from './SnapshotInfoDto';
export type SnapshotListDto = {
    snapshots: Array<SnapshotInfoDto>;
};

