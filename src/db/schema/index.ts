export * from "./identity";
export * from "./ops";
export * from "./security";
export * from "./tracking";
