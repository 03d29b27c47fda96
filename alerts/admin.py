from django.contrib import admin

from alerts.models import Alert, Channel, MaintenanceWindow, Rule, Silence

admin.site.register([Alert, Channel, MaintenanceWindow, Rule, Silence])
