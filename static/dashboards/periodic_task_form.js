// The periodic task form: under the crontab field, the chosen schedule in words.
(function () {
  "use strict";
  var readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  var original = document.currentScript.dataset.crontabHelp || "";
  var field = document.querySelector(".field-crontab");
  var select = document.getElementById("id_crontab");
  var translation = document.querySelector(".field-crontab_translation");
  if (translation) translation.hidden = true;
  if (!field || !select) return;
  select.addEventListener("change", function () {
    var help = field.querySelector(".help");
    if (!help) return;
    help.textContent = original;
    var words = readable[select.value];
    if (words) {
      help.appendChild(document.createElement("br"));
      help.appendChild(document.createTextNode("Translation: " + words));
    }
  });
})();
