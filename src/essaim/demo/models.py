from django.db import models


class DemoMarker(models.Model):
    """Present when this database was set up as a demonstration: only then may demo data (with public
    passwords) be loaded into a database that already holds accounts."""

    created_at = models.DateTimeField("créé le", auto_now_add=True)

    class Meta:
        verbose_name = "marqueur de base de démonstration"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1),
                name="demo_marker_single_row",
                violation_error_message="Une seule ligne de marqueur de démonstration.",
            )
        ]

    def __str__(self) -> str:
        return f"Base de démonstration depuis le {self.created_at:%d/%m/%Y}"
