import { Testing } from "cdktf";
// Type declarations of the matchers below (a global augmentation of jest.Matchers).
import "cdktf/lib/testing/adapters/jest";

// Adds cdktf's matchers (toHaveResourceWithProperties, ...) to expect.
Testing.setupJest();
