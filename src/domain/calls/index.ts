import type { Domain, DomainContext } from "../domain.js";
import { callTypes } from "./events.js";
import { projectCall } from "./projection.js";

export { callsRoutes } from "./routes.js";

export const callsDomain = ({ db }: DomainContext): Domain => ({
  name: "calls",
  topics: ["call"],
  types: callTypes,
  project: (e, data) => projectCall(db, e, data),
});
