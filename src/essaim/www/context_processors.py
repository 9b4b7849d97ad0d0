from django.conf import settings


def site(request):
    return {"site_name": settings.ESSAIM_SITE_NAME}
