/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { HealthDto } from '../models/HealthDto';
import type { CancelablePromise } from '../core/CancelablePromise';
import type { BaseHttpRequest } from '../core/BaseHttpRequest';
export class OperationsService {
    constructor(public readonly httpRequest: BaseHttpRequest) {}
    /**
     * The process is alive
     * @returns HealthDto
     * @throws ApiError
     */
    public healthz(): CancelablePromise<HealthDto> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/healthz',
        });
    }
    /**
     * The server's own metrics in Prometheus text format
     * @returns string Prometheus exposition format
     * @throws ApiError
     */
    public metrics(): CancelablePromise<string> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/metrics',
        });
    }
    /**
     * Ready to take backups: Prometheus answers with its admin API on, snapshot_dir can be read and written
     * @returns HealthDto
     * @throws ApiError
     */
    public readyz(): CancelablePromise<HealthDto> {
        return this.httpRequest.request({
            method: 'GET',
            url: '/readyz',
        });
    }
}
