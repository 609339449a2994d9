/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export { PrombackupClient } from './PrombackupClient';

export { ApiError } from './core/ApiError';
export { BaseHttpRequest } from './core/BaseHttpRequest';
export { CancelablePromise, CancelError } from './core/CancelablePromise';
export { OpenAPI } from './core/OpenAPI';
export type { OpenAPIConfig } from './core/OpenAPI';

export type { BlockDto } from './models/BlockDto';
export type { BlockFileDto } from './models/BlockFileDto';
export type { DownloadOutcomeDto } from './models/DownloadOutcomeDto';
export type { DownloadStatusDto } from './models/DownloadStatusDto';
export type { ErrorDto } from './models/ErrorDto';
export type { HealthDto } from './models/HealthDto';
export type { OtherEntryDto } from './models/OtherEntryDto';
export type { OtherEntryType } from './models/OtherEntryType';
export type { PruneResultDto } from './models/PruneResultDto';
export type { SnapshotContentsDto } from './models/SnapshotContentsDto';
export type { SnapshotCreatedDto } from './models/SnapshotCreatedDto';
export type { SnapshotDeletedDto } from './models/SnapshotDeletedDto';
export type { SnapshotInfoDto } from './models/SnapshotInfoDto';
export type { SnapshotListDto } from './models/SnapshotListDto';

export { DownloadsService } from './services/DownloadsService';
export { OperationsService } from './services/OperationsService';
export { SnapshotsService } from './services/SnapshotsService';
