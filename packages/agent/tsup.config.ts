import { preset } from "@x/tsup-preset";
import { defineConfig } from "tsup";

export default defineConfig(preset());
