// Full document view: bring the cited passage into the middle of the screen.
(function () {
  "use strict";
  var current = document.querySelector(".doc-passage.current");
  if (current) current.scrollIntoView({ block: "center" });
})();
