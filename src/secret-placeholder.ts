/**
 * What a secret holds until an operator gives it a value only they can (an Anthropic API key, the
 * identity provider's client secret): ECS starts a task only when every secret it injects has a
 * value, so the deployment fills such a secret with this first. It is no key and no secret; the
 * container and the sign-in gate recognize it and say what is missing.
 */
export const SECRET_PLACEHOLDER = "not-set";
