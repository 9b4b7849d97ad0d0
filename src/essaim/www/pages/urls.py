from django.urls import path

from essaim.www.pages import views

app_name = "www"

urlpatterns = [
    path("", views.home, name="home"),
]
