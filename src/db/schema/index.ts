export * from "./activity";
export * from "./identity";
export * from "./ops";
export * from "./screenshots";
export * from "./security";
export * from "./tracking";
