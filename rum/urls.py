from django.urls import path

from rum import api, staff_api, views

urlpatterns = [
    path("api/rum/beacon/", api.BeaconView.as_view(), name="rum-beacon"),
    path("api/rum/summary/", staff_api.SummaryView.as_view(), name="rum-summary"),
    path("api/rum/overview/", staff_api.OverviewView.as_view(), name="rum-overview"),
    path("api/rum/pages/", staff_api.PagesView.as_view(), name="rum-pages"),
    path("rum/demo/", views.demo_page, name="rum-demo"),
    path("rum/demo/products/<int:product_id>/", views.demo_page, name="rum-demo-product"),
]
