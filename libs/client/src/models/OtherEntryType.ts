/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
/**
 * other: a link, device, pipe or socket (never followed)
 */
export type OtherEntryType = 'file' | 'directory' | 'other';
