-- OCPP: the Central System assigns OCPP 1.6 transaction ids (StartTransaction.conf transactionId, an
-- integer). One sequence for all stations keeps them unique per station without a lock; `AS integer`
-- keeps them within the 32-bit range many charge points store them in.
CREATE SEQUENCE ocpp16_transaction_id AS integer START 1;
