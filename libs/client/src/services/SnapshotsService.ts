/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { PruneResultDto } from '../models/PruneResultDto';
import type { SnapshotContentsDto } from '../models/SnapshotContentsDto';
import type { SnapshotDeletedDto } from '../models/SnapshotDeletedDto';
import type { SnapshotListDto } from '../models/SnapshotListDto';
import type { CancelablePromise } from '../core/CancelablePromise';
import type { BaseHttpRequest } from '../core/BaseHttpRequest';
export class SnapshotsService {
    constructor(public readonly httpRequest: BaseHttpRequest) {}
    /**
     * Remove snapshots older than keep_within
     * Never removes a snapshot being streamed, nor anything that is not a snapshot folder.
     * @returns PruneResultDto
     * @throws ApiError
     */
    public prune({
        keepWithin,
    }: {
        /**
         * Go duration such as 1h, 12h, 90m; snapshots younger than this are kept (default 1h)
         */
        keepWithin?: string,
    }): CancelablePromise<PruneResultDto> {
        return this.httpRequest.request({
            method: 'POST',
            url: '/api/prune',
            query: {
                'keep_within': keepWithin,
            },
            errors: {
                400: `keep_within is not a duration, or negative; or another parameter was given`,
            },
        });
    }
    /**
     * Remove one snapshot folder
     * Refused with 409 while a download streams it. The name follows the same rules as for a download.
     * @returns SnapshotDeletedDto
     * @throws ApiError
     */
    public deleteSnapshot({
        name,
    }: {
        /**
         * Snapshot folder name
         */
        name: string,
    }): CancelablePromise<SnapshotDeletedDto> {
        return this.httpRequest.request({
            method: 'DELETE',
            url: '/api/snapshot',
            query: {
                'name': name,
            },
            errors: {
                400: `The name is not a snapshot folder name`,
                404: `No name given, or no such snapshot`,
                409: `A download is streaming this snapshot`,
                503: `snapshot_dir cannot be read or written`,
            },
        });
    }
    /**
     * Ask Prometheus for a snapshot
     * Parameters come from the query string or a urlencoded form. Answers 303 with Location ./download?name=…, so a browser form turns straight into a download.
     * @returns void
     * @throws ApiError
     */
    public createSnapshot({
        downloadFormat,
        skipHead,
    }: {
        /**
         * Format for the Location link
         */
        downloadFormat?: 'tar' | 'tgz' | 'tzst',
        /**
         * Leave out the in-memory head block
         */
        skipHead?: boolean,
    }): CancelablePromise<void> {
        return this.httpRequest.request({
            method: 'POST',
            url: '/api/snapshot',
            query: {
                'download_format': downloadFormat,
                'skip_head': skipHead,
            },
            errors: {
                303: `Snapshot taken`,
                400: `A parameter has a bad value`,
                502: `Prometheus refused or answered nonsense`,
                503: `Prometheus cannot be reached, or the server is shutting down`,
                504: `Prometheus did not answer in time`,
            },
        });
    }
    /**
     * A snapshot's blocks and other top-level entries
     * Each block (a folder named by its ULID whose meta.json names the same ULID) with its time range, stats and files; every other top-level entry by name, type and size. Links are listed, never followed.
     * @returns SnapshotContentsDto
     * @throws ApiError
     */
    public snapshotContents({
        name,
    }: {
        /**
         * Snapshot folder name
         */
        name: string,
    }): CancelablePromise<SnapshotContentsDto> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/api/snapshot_contents',
            query: {
                'name': name,
            },
            errors: {
                400: `No name given, or it is not a snapshot folder name`,
                404: `No such snapshot`,
                500: `A part of the snapshot cannot be read, or changed while it was read`,
                503: `snapshot_dir cannot be read`,
            },
        });
    }
    /**
     * The snapshot folders on disk
     * @returns SnapshotListDto
     * @throws ApiError
     */
    public listSnapshots(): CancelablePromise<SnapshotListDto> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/api/snapshots',
        });
    }
}
