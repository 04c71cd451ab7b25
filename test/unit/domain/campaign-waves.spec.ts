import { assignWaves, CampaignStanding, nextCampaignMove, WaveTally } from '@keyshift/domain';

const wave = (w: number, members: number, completed: number, failed: number): WaveTally => ({
  wave: w,
  members,
  completed,
  failed,
});

const standing = (over: Partial<CampaignStanding>): CampaignStanding => ({
  releasedWave: -1,
  waveCount: 3,
  maxFailureRate: 0.2,
  waves: [wave(0, 2, 0, 0), wave(1, 10, 0, 0), wave(2, 10, 0, 0)],
  ...over,
});

describe('campaign waves: the next move', () => {
  it('releases the canary first, or completes a campaign with no waves', () => {
    expect(nextCampaignMove(standing({}))).toEqual({ move: 'release', wave: 0 });
    expect(nextCampaignMove(standing({ waveCount: 0, waves: [] }))).toEqual({ move: 'complete' });
  });

  it('waits while released members are still migrating, counting them', () => {
    const s = standing({ releasedWave: 1, waves: [wave(0, 2, 2, 0), wave(1, 10, 6, 1), wave(2, 10, 0, 0)] });
    expect(nextCampaignMove(s)).toEqual({ move: 'none', reason: '3 released clients still migrating' });
  });

  it('releases the next wave once every released member finished within the failure rate', () => {
    const s = standing({ releasedWave: 0, waves: [wave(0, 2, 2, 0), wave(1, 10, 0, 0), wave(2, 10, 0, 0)] });
    expect(nextCampaignMove(s)).toEqual({ move: 'release', wave: 1 });
    const failedButWithin = standing({
      releasedWave: 1,
      waves: [wave(0, 2, 2, 0), wave(1, 8, 6, 2), wave(2, 10, 0, 0)],
    });
    // 2 of 10 released failed: exactly the maximum rate, which is still allowed.
    expect(nextCampaignMove(failedButWithin)).toEqual({ move: 'release', wave: 2 });
  });

  it('completes after the last wave finished', () => {
    const s = standing({ releasedWave: 2, waves: [wave(0, 2, 2, 0), wave(1, 10, 10, 0), wave(2, 10, 9, 1)] });
    expect(nextCampaignMove(s)).toEqual({ move: 'complete' });
  });

  it('pauses past the maximum failure rate, counting only released waves, before releasing anything', () => {
    const s = standing({
      releasedWave: 1,
      // Unreleased wave 2 has (impossible) failures: they must not count.
      waves: [wave(0, 2, 1, 1), wave(1, 10, 5, 2), wave(2, 10, 0, 10)],
    });
    expect(nextCampaignMove(s)).toEqual({
      move: 'pause',
      failureRate: 0.25,
      reason: 'failure rate 25.0% (3 of 12 released clients) exceeds the maximum 20.0%',
    });
    const canaryOnly = standing({ releasedWave: 0, waves: [wave(0, 2, 1, 1), wave(1, 10, 0, 0)] });
    expect(nextCampaignMove(canaryOnly)).toMatchObject({ move: 'pause', failureRate: 0.5 });
  });

  it('does not count failures in waves not yet released', () => {
    const s = standing({ releasedWave: 0, waves: [wave(0, 2, 2, 0), wave(1, 10, 0, 10), wave(2, 10, 0, 10)] });
    expect(nextCampaignMove(s)).toEqual({ move: 'release', wave: 1 });
  });

  it('treats no released members as a failure rate of 0', () => {
    const s = standing({ releasedWave: 0, maxFailureRate: 0, waves: [wave(0, 0, 0, 0), wave(1, 1, 0, 0)] });
    expect(nextCampaignMove(s)).toEqual({ move: 'release', wave: 1 });
  });
});

describe('campaign waves: assigning members', () => {
  it('puts the canary in wave 0, then waves of waveSize', () => {
    expect(assignWaves(8, 2, 3)).toEqual([0, 0, 1, 1, 1, 2, 2, 2]);
    expect(assignWaves(3, 5, 2)).toEqual([0, 0, 0]);
    expect(assignWaves(0, 1, 1)).toEqual([]);
  });

  it('starts at wave 0 when there is no canary', () => {
    expect(assignWaves(5, 0, 2)).toEqual([0, 0, 1, 1, 2]);
  });
});
