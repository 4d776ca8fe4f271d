import { mount } from "../lib/mount";

function Page() {
  return <div className="page"><h1>Designer</h1><p className="muted">This page is being built.</p></div>;
}

mount(Page);
