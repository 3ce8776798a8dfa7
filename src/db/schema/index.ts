export * from "./ops";
