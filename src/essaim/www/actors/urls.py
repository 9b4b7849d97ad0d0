from django.urls import path

from essaim.www.pages import views

app_name = "actors"

# Placeholder until the actors web layer lands.
urlpatterns = [
    path("", views.home, name="list"),
]
