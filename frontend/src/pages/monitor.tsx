import { mount } from "../lib/mount";

function Page() {
  return <div className="page"><h1>monitor</h1><p className="muted">This page is being built.</p></div>;
}

mount(Page);
