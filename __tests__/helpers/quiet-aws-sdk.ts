/**
 * Imported first by tests that load the AWS SDK: the SDK warns, once per process, that its
 * releases from 2027 need Node.js 22. The Lambda runtime is Node.js 22; the tests may run on 20.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
