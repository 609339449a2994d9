/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { DownloadStatusDto } from '../models/DownloadStatusDto';
import type { CancelablePromise } from '../core/CancelablePromise';
import type { BaseHttpRequest } from '../core/BaseHttpRequest';
export class DownloadsService {
    constructor(public readonly httpRequest: BaseHttpRequest) {}
    /**
     * Stream a snapshot as an archive
     * The archive is built while it is sent. Its outcome and SHA-256 are kept under the id in X-Prombackup-Download-Id.
     * @returns binary The archive
     * @throws ApiError
     */
    public download({
        name,
        blocks,
        level,
        format,
    }: {
        /**
         * Snapshot folder name
         */
        name: string,
        /**
         * Comma-separated block ULIDs (as listed by snapshot_contents): the archive holds only these blocks. Each must be a block of the snapshot.
         */
        blocks?: string,
        /**
         * Compression level: tgz 1-9 (default 1), tzst 1-19 (default 3)
         */
        level?: number,
        /**
         * Archive format (default tar)
         */
        format?: 'tar' | 'tgz' | 'tzst',
    }): CancelablePromise<Blob> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/api/download',
            query: {
                'blocks': blocks,
                'level': level,
                'format': format,
                'name': name,
            },
            errors: {
                400: `Bad name, format, level or blocks, or a block the snapshot does not have`,
                404: `No name given, or no such snapshot`,
                429: `Too many downloads at once; see Retry-After`,
            },
        });
    }
    /**
     * A download's outcome and the SHA-256 of what was sent
     * @returns DownloadStatusDto
     * @throws ApiError
     */
    public downloadStatus({
        id,
    }: {
        id: string,
    }): CancelablePromise<DownloadStatusDto> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/api/download_status',
            query: {
                'id': id,
            },
            errors: {
                404: `Unknown id, or its status has expired (15 minutes)`,
            },
        });
    }
}
