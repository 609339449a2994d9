// Object storage for s3:// URLs, on the AWS SDK: parsing, settings and flags, streaming uploads and reads.
export { describeS3Failure, s3Status } from './s3-errors';
export { type S3Location, checkKeyRoom, isS3Url, keyFor, parseS3Url, s3Url } from './s3-location';
export { S3_FLAGS, type S3FlagValues, type S3Settings, type S3WriteOptions, createS3Client, s3FlagsGiven, s3Settings } from './s3-settings';
export { MultipartArchiveUpload, PART_BYTES, QUEUE_PARTS, partBytesFor } from './multipart-upload';
export { type CopyLimits, SHA256_METADATA, checkBucket, objectExists, openObject, readChecksumObject, replaceMetadata, writeChecksumObject } from './s3-object';
