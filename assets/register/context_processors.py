from django.http import HttpRequest

from assets.register import permissions, place


def roles(request: HttpRequest) -> dict:
    user = request.user
    return {
        "city": place.city(),
        "user_roles": permissions.user_roles(user),
        "can_create_asset": permissions.can_create_asset(user),
        "can_export": permissions.can_export(user),
        "can_view_imports": permissions.can_view_imports(user),
    }
