"""Security headers on every response: the Content-Security-Policy (django-csp, configured
in settings) and the Permissions-Policy below.

Our pages load scripts, styles, images and fonts from this site only, run no inline script
(charts are JSON data blocks drawn by static/dashboards/charts.js), talk to this site only
and cannot be framed. The RUM script is served to other sites as a file, and its beacon
endpoint answers them: a policy on those responses does not bind the pages that use them.
"""

# Browser features no page of ours uses; "()" allows them to nobody.
DISABLED_FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DISABLED_FEATURES)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
