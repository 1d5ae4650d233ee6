from billing.adapters.ledger import LedgerRepository
from billing.adapters.repository import PackageRepository, ProductRepository, ReservationRepository
from studio_platform.uow import UnitOfWork


class BillingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.products = ProductRepository(self.session)
        self.packages = PackageRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.reservations = ReservationRepository(self.session)
