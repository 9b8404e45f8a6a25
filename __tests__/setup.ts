import { Testing } from "cdktf";

// Adds cdktf's matchers (toHaveResourceWithProperties, ...) to expect.
Testing.setupJest();
