// The patch-ID-token page outside the Shopify admin (dev-shop only): renew the session token this browser
// held for the shop and reload the page that needed one, as App Bridge does inside the admin.
(async () => {
  const config = JSON.parse(document.getElementById("patch-config").textContent);
  const expired = () => {
    document.getElementById("patch-status").hidden = true;
    document.getElementById("patch-expired").hidden = false;
  };
  let previous = null;
  try {
    previous = sessionStorage.getItem(`worn.idToken.${config.shop}`);
  } catch {
    /* storage disabled */
  }
  if (!previous) return expired();
  try {
    const response = await fetch(config.renew, { method: "POST", headers: { Authorization: `Bearer ${previous}` } });
    if (!response.ok) return expired();
    const { token } = await response.json();
    sessionStorage.setItem(`worn.idToken.${config.shop}`, token);
    const target = new URL(config.reload, location.origin);
    if (target.origin !== location.origin) return expired();
    target.searchParams.set("id_token", token);
    location.replace(target.toString());
  } catch {
    expired();
  }
})();
