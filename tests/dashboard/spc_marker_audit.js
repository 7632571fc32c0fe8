// Special-cause points told apart without colour (WCAG 1.4.1): every point mark of every XmR chart on
// the page, with its cause, the shape actually drawn (the element, and a path's drawing commands) and the
// text it carries. The test checks each kind of point has its own shape and names itself in words.
() => [...document.querySelectorAll("svg.xmr .point")].map((m) => {
  const d = m.getAttribute("d") || "";
  const drawn = m.tagName.toLowerCase() === "circle"
    ? (m.getAttribute("fill") === "white" ? "hollow circle" : "circle")
    : "path " + d.replace(/[^A-Za-z]/g, "");
  const title = m.querySelector("title");
  return { cause: m.getAttribute("data-cause"), drawn, title: title ? title.textContent : "" };
})
