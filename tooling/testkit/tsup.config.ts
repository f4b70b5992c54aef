import { preset } from "@x/tsup-preset";
import { defineConfig } from "tsup";

// Private test helpers: no need for isolated declarations' strictness in the .d.ts.
export default defineConfig(preset());
