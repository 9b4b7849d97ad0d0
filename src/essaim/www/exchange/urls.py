from django.urls import path

from essaim.www.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.listing_list, name="list"),
    path("publier/<slug:slug>/", views.listing_create, name="create"),
    path("<int:pk>/", views.listing_detail, name="detail"),
    path("<int:pk>/modifier/", views.listing_edit, name="edit"),
    path("<int:pk>/etat/", views.listing_status, name="status"),
]
