import type { Domain } from "../domain.js";
import { callTypes } from "./events.js";
import { callsProjection } from "./projection.js";

export { callsRoutes } from "./routes.js";

export const callsDomain: Domain = {
  name: "calls",
  topics: callsProjection.topics,
  types: callTypes,
};
