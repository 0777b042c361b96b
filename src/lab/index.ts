// Small conveniences for notebook cells: unique names, a temp folder per kernel run, and
// compiling/running the lecture's C programs beside the TypeScript twin.
export { uniqueName } from "./names";
export { labDir } from "./labdir";
export { compileC, runProgram, noCompilerReason } from "./programs";
export type { CompiledProgram, ProgramOptions, ProgramResult } from "./programs";
