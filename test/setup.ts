// Tests talk only to loopback stand-ins; keep the SDK off instance metadata.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
