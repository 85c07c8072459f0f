import assert from 'node:assert/strict';
import { foreignProfiles, gridflexProfileIds, isGridflexProfile, type InstalledProfile } from '../../../grid-adapters/ocpp/installed-profiles.ts';

const p = (evseId: number, source: string, id: number, purpose: string): InstalledProfile => ({ evseId, chargingLimitSource: source, profile: { id, chargingProfilePurpose: purpose, stackLevel: 0 } });

describe('installed profiles: gridflex’s own or foreign', () => {
  it('recognises exactly gridflex’s slots, installed as CSO', () => {
    assert.equal(isGridflexProfile(p(0, 'CSO', 1, 'ChargingStationMaxProfile')), true);
    assert.equal(isGridflexProfile(p(0, 'CSO', 2, 'TxDefaultProfile')), true);
    assert.equal(isGridflexProfile(p(3, 'CSO', 103, 'TxProfile')), true);
    assert.equal(isGridflexProfile(p(0, 'EMS', 1, 'ChargingStationMaxProfile')), false, 'another source');
    assert.equal(isGridflexProfile(p(1, 'CSO', 1, 'ChargingStationMaxProfile')), false, 'station max on an EVSE');
    assert.equal(isGridflexProfile(p(0, 'CSO', 2, 'TxProfile')), false, 'id 2 with another purpose');
    assert.equal(isGridflexProfile(p(2, 'CSO', 103, 'TxProfile')), false, 'TxProfile id of another EVSE');
    assert.equal(isGridflexProfile(p(0, 'SO', 9, 'ChargingStationExternalConstraints')), false);
    assert.deepEqual(foreignProfiles([p(0, 'CSO', 1, 'ChargingStationMaxProfile'), p(0, 'SO', 9, 'ChargingStationExternalConstraints')]).map((x) => x.profile.id), [9]);
  });

  it('lists the ids gridflex may have installed', () => {
    assert.deepEqual(gridflexProfileIds([2, 1, 2, 0, -1]), [1, 2, 101, 102]);
    assert.deepEqual(gridflexProfileIds([]), [1, 2]);
  });
});
