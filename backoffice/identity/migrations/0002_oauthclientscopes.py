from django.conf import settings
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Separate from 0001: DOT's own migrations depend on the user model in 0001."""

    dependencies = [
        ("identity", "0001_initial"),
        migrations.swappable_dependency(settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OAuthClientScopes',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scopes', models.JSONField(blank=True, default=list, verbose_name='allowed scopes')),
                ('application', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='enlace_scopes', to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL)),
            ],
            options={
                'verbose_name': 'OAuth2 client scopes',
                'verbose_name_plural': 'OAuth2 client scopes',
            },
        ),
    ]
