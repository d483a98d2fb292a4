// Hands the secret of an emailed link to the page's form. The link carries it in the fragment
// (#t=…), which browsers never send to a server, so it cannot land in an access log; this script
// copies it into the form field, takes it out of the address bar and history, and hides the
// field. A form marked data-autosubmit (opening a status page, which changes nothing) is sent
// at once; the others wait for the person's click, so a mail scanner that runs scripts cannot
// verify a request or use up a download. Without JavaScript the field shows and takes a paste.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  var forms = document.querySelectorAll("form[data-link-secret]");
  Array.prototype.forEach.call(forms, function (form) {
    var name = form.getAttribute("data-link-secret");
    var field = form.elements[name];
    var secret = params.get(name);
    if (!field || !secret) {
      return;
    }
    field.value = secret;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    var box = field.closest("[data-link-field]");
    if (box) {
      box.hidden = true;
    }
    if (form.hasAttribute("data-autosubmit")) {
      form.submit();
    }
  });
})();
