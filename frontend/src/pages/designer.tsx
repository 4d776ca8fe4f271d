import { Designer } from "../designer/Designer";
import { mount } from "../lib/mount";

mount(Designer);
