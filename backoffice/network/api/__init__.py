"""HTTP API of the network service, mounted at /api/network/v1/, one module per resource:

- :mod:`.routers`, :mod:`.services`, :mod:`.diagnosis` (line diagnoses and the commands a
  service was sent) and :mod:`.me` (the subscriber's own services): the endpoints;
- :mod:`.serializers`: the output serializers and the input fields the endpoints share;
- :mod:`.common`: roles, permissions and pagination.

Staff (roles noc, admin) and services holding ``network.read`` / ``network.write`` reach every
service and router; a subscriber reads only their own services under ``/me/services/``.
Each endpoint parses its input, makes one domain call and shapes the output.

The views are re-exported here for ``urls.py`` (``api.<View>``).
"""

from backoffice.network.api.diagnosis import (
    ServiceCommandListApi,
    ServiceDiagnoseApi,
    ServiceDiagnosisDetailApi,
)
from backoffice.network.api.me import MyServiceDetailApi, MyServiceListApi
from backoffice.network.api.routers import RouterDetailApi, RouterListCreateApi, RouterReconcileApi
from backoffice.network.api.services import (
    ServiceDetailApi,
    ServiceListCreateApi,
    ServiceReactivateApi,
    ServiceSuspendApi,
    ServiceTerminateApi,
)

__all__ = [
    "MyServiceDetailApi",
    "MyServiceListApi",
    "RouterDetailApi",
    "RouterListCreateApi",
    "RouterReconcileApi",
    "ServiceCommandListApi",
    "ServiceDetailApi",
    "ServiceDiagnoseApi",
    "ServiceDiagnosisDetailApi",
    "ServiceListCreateApi",
    "ServiceReactivateApi",
    "ServiceSuspendApi",
    "ServiceTerminateApi",
]
