// The demo shop's buttons: each makes something the RUM script reports.
(function () {
  "use strict";
  function block(ms) { var end = performance.now() + ms; while (performance.now() < end) {} }
  document.getElementById("heavy").addEventListener("click", function () {
    block(300);
    this.textContent = "Added to cart";
  });
  function showBanner() {
    var slot = document.getElementById("banner-slot");
    if (!slot.firstChild) {
      var banner = document.createElement("div");
      banner.id = "banner";
      banner.textContent = "Free shipping on orders over 50 €!";
      slot.appendChild(banner);
    }
  }
  document.getElementById("shift").addEventListener("click", function () { setTimeout(showBanner, 600); });
  document.getElementById("boom").addEventListener("click", function () {
    setTimeout(function () { throw new Error("Demo checkout failed: cart is undefined"); }, 0);
  });
  document.getElementById("track").addEventListener("click", function () {
    window.rum && window.rum.track("add_to_cart", 49.9, { currency: "EUR" });
  });
  document.getElementById("consent").addEventListener("click", function () {
    window.rum && window.rum.consent(true);
  });
  document.getElementById("spa-cart").addEventListener("click", function (event) {
    // A route change without a page load, as single-page apps do: a soft navigation.
    event.preventDefault();
    history.pushState({}, "", this.href);
    var main = document.querySelector("main");
    main.innerHTML = "<h1>Your cart</h1><p class='cart'>" + "Three items, 147 €. ".repeat(40) + "</p>";
  });
  window.showBanner = showBanner;
})();
