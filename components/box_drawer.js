// The box drawer: drag rectangles on an image, give each a class, delete one; the boxes go back to
// Python in the image's own pixel coordinates. Loaded by components/box_drawer.py (Streamlit
// Components v2, no build step). Streamlit calls the default export again whenever `data`
// changes; each call rebuilds the drawer from `data.boxes`, which Python keeps current.

const MIN_DRAG_PX = 4; // a click, not a drag, draws nothing

export default function boxDrawer(component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".vbd-root");
  root.replaceChildren();

  const width = data.width;
  const height = data.height;
  const classes = data.classes || [];
  const openClasses = Boolean(data.open_classes);
  let boxes = (data.boxes || []).map((b) => ({ ...b }));
  let selected = null;
  let newClass = data.default_class || classes[0] || "";

  const toolbar = element("div", "vbd-toolbar");
  const classLabel = element("label", "vbd-class-label", "Class for new boxes ");
  const classPicker = classControl(newClass, (value) => { newClass = value; }, "New box class");
  classLabel.appendChild(classPicker);
  toolbar.appendChild(classLabel);
  toolbar.appendChild(element("span", "vbd-hint", "Drag on the image to draw a box."));
  root.appendChild(toolbar);

  const stage = element("div", "vbd-stage");
  stage.setAttribute("data-testid", "box-drawer-stage");
  const image = document.createElement("img");
  image.src = data.image;
  image.alt = data.alt || "image to label";
  image.draggable = false;
  stage.appendChild(image);
  const overlay = element("div", "vbd-overlay");
  stage.appendChild(overlay);
  root.appendChild(stage);

  const list = element("ol", "vbd-list");
  list.setAttribute("aria-label", "Boxes");
  root.appendChild(list);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function classControl(value, onChange, label) {
    const wrap = element("span", "vbd-class");
    const select = document.createElement("select");
    select.setAttribute("aria-label", label);
    const options = classes.slice();
    if (value && !options.includes(value)) options.push(value);
    for (const name of options) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    }
    const other = document.createElement("input");
    other.type = "text";
    other.placeholder = "class name";
    other.setAttribute("aria-label", `Other ${label.toLowerCase()}`);
    if (openClasses) {
      const option = document.createElement("option");
      option.value = "__other__";
      option.textContent = "Other…";
      select.appendChild(option);
    }
    select.value = value || (options[0] ?? "__other__");
    other.hidden = select.value !== "__other__";
    select.addEventListener("change", () => {
      other.hidden = select.value !== "__other__";
      if (select.value === "__other__") other.focus();
      else onChange(select.value);
    });
    other.addEventListener("change", () => {
      const name = other.value.trim();
      if (name) onChange(name);
    });
    wrap.appendChild(select);
    if (openClasses) wrap.appendChild(other);
    if (!classes.length && !openClasses) select.disabled = true;
    return wrap;
  }

  function scale() {
    const rect = image.getBoundingClientRect();
    return { rect, sx: width / rect.width, sy: height / rect.height };
  }

  function emit() {
    setStateValue("boxes", boxes.map((b) => ({ ...b })));
  }

  function render() {
    overlay.replaceChildren();
    const { rect } = scale();
    if (!rect.width) return;
    const kx = rect.width / width;
    const ky = rect.height / height;
    boxes.forEach((box, index) => {
      const outline = element("div", "vbd-box" + (index === selected ? " vbd-selected" : ""));
      outline.style.left = `${box.x_min * kx}px`;
      outline.style.top = `${box.y_min * ky}px`;
      outline.style.width = `${(box.x_max - box.x_min) * kx}px`;
      outline.style.height = `${(box.y_max - box.y_min) * ky}px`;
      outline.setAttribute("data-testid", "box-drawer-box");
      outline.appendChild(element("span", "vbd-tag", `${index + 1} ${box.label}`));
      outline.addEventListener("pointerdown", (event) => {
        event.stopPropagation();
        selected = index;
        render();
        renderList();
      });
      overlay.appendChild(outline);
    });
  }

  function renderList() {
    list.replaceChildren();
    boxes.forEach((box, index) => {
      const row = element("li", "vbd-row" + (index === selected ? " vbd-selected" : ""));
      row.setAttribute("data-testid", "box-drawer-row");
      row.appendChild(classControl(box.label, (value) => {
        boxes[index] = { ...boxes[index], label: value };
        render();
        emit();
      }, `Class of box ${index + 1}`));
      row.appendChild(element("span", "vbd-coords", `x ${box.x_min}–${box.x_max}, y ${box.y_min}–${box.y_max} px`));
      const remove = element("button", "vbd-remove", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", `Delete box ${index + 1}`);
      remove.addEventListener("click", () => {
        boxes.splice(index, 1);
        selected = null;
        render();
        renderList();
        emit();
      });
      row.appendChild(remove);
      list.appendChild(row);
    });
    if (!boxes.length) list.appendChild(element("li", "vbd-empty", "No boxes yet."));
  }

  let start = null;
  let band = null;

  function toImage(event) {
    const { rect, sx, sy } = scale();
    const x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
    const y = Math.min(Math.max(event.clientY - rect.top, 0), rect.height);
    return { x, y, sx, sy };
  }

  function onDown(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    start = toImage(event);
    band = element("div", "vbd-band");
    overlay.appendChild(band);
    stage.setPointerCapture?.(event.pointerId);
  }

  function onMove(event) {
    if (!start) return;
    const point = toImage(event);
    band.style.left = `${Math.min(start.x, point.x)}px`;
    band.style.top = `${Math.min(start.y, point.y)}px`;
    band.style.width = `${Math.abs(point.x - start.x)}px`;
    band.style.height = `${Math.abs(point.y - start.y)}px`;
  }

  function onUp(event) {
    if (!start) return;
    const point = toImage(event);
    const from = start;
    start = null;
    band?.remove();
    band = null;
    if (Math.abs(point.x - from.x) < MIN_DRAG_PX || Math.abs(point.y - from.y) < MIN_DRAG_PX) return;
    const clampX = (v) => Math.min(Math.max(Math.round(v * point.sx), 0), width);
    const clampY = (v) => Math.min(Math.max(Math.round(v * point.sy), 0), height);
    const box = {
      x_min: clampX(Math.min(from.x, point.x)),
      y_min: clampY(Math.min(from.y, point.y)),
      x_max: clampX(Math.max(from.x, point.x)),
      y_max: clampY(Math.max(from.y, point.y)),
      label: newClass,
    };
    if (box.x_max <= box.x_min || box.y_max <= box.y_min) return;
    boxes.push(box);
    selected = boxes.length - 1;
    render();
    renderList();
    emit();
  }

  function onKey(event) {
    if ((event.key === "Delete" || event.key === "Backspace") && selected !== null && event.target === stage) {
      boxes.splice(selected, 1);
      selected = null;
      render();
      renderList();
      emit();
    }
  }

  stage.tabIndex = 0;
  stage.addEventListener("pointerdown", onDown);
  stage.addEventListener("pointermove", onMove);
  stage.addEventListener("pointerup", onUp);
  stage.addEventListener("keydown", onKey);
  const resize = new ResizeObserver(() => render());
  resize.observe(image);
  if (image.complete) render();
  else image.addEventListener("load", render, { once: true });
  renderList();

  return () => {
    resize.disconnect();
    stage.removeEventListener("pointerdown", onDown);
    stage.removeEventListener("pointermove", onMove);
    stage.removeEventListener("pointerup", onUp);
    stage.removeEventListener("keydown", onKey);
  };
}
