from billing.adapters.ledger import LedgerRepository
from billing.adapters.repository import PackageRepository, ProductRepository, ReservationRepository
from studio_platform.uow import UnitOfWork


class BillingUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.products = ProductRepository(self.db)
        self.packages = PackageRepository(self.db)
        self.ledger = LedgerRepository(self.db)
        self.reservations = ReservationRepository(self.db)
