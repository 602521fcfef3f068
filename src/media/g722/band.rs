//! The parts of ITU-T G.722 (64 kbit/s mode) both directions share: the
//! state of one sub-band's ADPCM predictor, its adaptation (block 4 of the
//! Recommendation: RECONS, PARREC, UPPOL1/2, UPZERO, DELAYA, FILTEP,
//! FILTEZ, PREDIC), the quantiser scale adaptation (blocks 3L/3H) and the
//! tables. Pure integer arithmetic as the Recommendation specifies it, so
//! encoder and decoder stay in step bit for bit. Nothing here knows RTP
//! or sample buffers.

/// Decision levels of the 6-bit low-band quantiser (QUANTL).
pub const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// Low-band codes for a negative / non-negative difference, by interval.
pub const ILN: [i32; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
pub const ILP: [i32; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
/// Low-band log scale factor multipliers (LOGSCL).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [i32; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Inverse log base 2 table (SCALEL/SCALEH).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// 4-bit low-band inverse quantiser (INVQAL: the predictor's input).
pub const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// 6-bit low-band inverse quantiser (INVQBL: the decoder's output).
pub const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// 2-bit high-band inverse quantiser (INVQAH).
pub const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// High-band codes for a negative / non-negative difference.
pub const IHN: [i32; 3] = [0, 1, 0];
pub const IHP: [i32; 3] = [0, 3, 2];
const WH: [i32; 3] = [0, -214, 798];
const RH2: [i32; 4] = [2, 1, 2, 1];
/// The 24-tap quadrature mirror filter, one half (the other is mirrored).
pub const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

pub fn saturate(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Which sub-band a predictor serves: the scale adaptation differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Low,
    High,
}

/// One sub-band's ADPCM state.
#[derive(Debug, Clone)]
pub struct Band {
    kind: Kind,
    /// Predicted signal.
    pub s: i32,
    sp: i32,
    sz: i32,
    r: [i32; 3],
    a: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    b: [i32; 7],
    /// Log scale factor.
    nb: i32,
    /// Quantiser scale factor.
    pub det: i32,
}

impl Band {
    /// The reset state of the Recommendation.
    pub fn new(kind: Kind) -> Band {
        Band {
            kind,
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            p: [0; 3],
            d: [0; 7],
            b: [0; 7],
            nb: 0,
            det: match kind {
                Kind::Low => 32,
                Kind::High => 8,
            },
        }
    }

    /// Blocks 3L/3H (LOGSCL, SCALEL / LOGSCH, SCALEH): adapts the
    /// quantiser scale to the code just sent or received (`code`: the
    /// 4-bit low-band code or the 2-bit high-band code).
    pub fn adapt_scale(&mut self, code: i32) {
        let (step, max, shift) = match self.kind {
            Kind::Low => (WL[RL42[(code & 15) as usize] as usize], 18432, 8),
            Kind::High => (WH[RH2[(code & 3) as usize] as usize], 22528, 10),
        };
        self.nb = ((self.nb * 127) >> 7) + step;
        self.nb = self.nb.clamp(0, max);
        let wd1 = ((self.nb >> 6) & 31) as usize;
        let wd2 = shift - (self.nb >> 11);
        let wd3 = if wd2 < 0 {
            ILB[wd1] << -wd2
        } else {
            ILB[wd1] >> wd2
        };
        self.det = wd3 << 2;
    }

    /// Block 4: the predictor's update with the quantised difference `d`.
    pub fn update(&mut self, d: i32) {
        let sign = |v: i32| v >> 15;
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = saturate(self.s + d);
        self.p[0] = saturate(self.sz + d);

        // UPPOL2
        let sg0 = sign(self.p[0]);
        let sg1 = sign(self.p[1]);
        let sg2 = sign(self.p[2]);
        let wd1 = saturate(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = if sg0 == sg2 { 128 } else { -128 };
        wd3 += wd2 >> 7;
        wd3 += (self.a[2] * 32512) >> 15;
        let ap2 = wd3.clamp(-12288, 12288);

        // UPPOL1
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = saturate(15360 - ap2);
        let mut ap1 = saturate(wd1 + wd2);
        if ap1 > limit {
            ap1 = limit;
        } else if ap1 < -limit {
            ap1 = -limit;
        }

        // UPZERO
        let wd1 = if d == 0 { 0 } else { 128 };
        let sgd = sign(d);
        let mut bp = [0i32; 7];
        for ((bp, &d), &b) in bp.iter_mut().zip(&self.d).zip(&self.b).skip(1) {
            let wd2 = if sign(d) == sgd { wd1 } else { -wd1 };
            let wd3 = (b * 32640) >> 15;
            *bp = saturate(wd2 + wd3);
        }

        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
        }
        self.a[2] = ap2;
        self.a[1] = ap1;

        // FILTEP
        let wd1 = (self.a[1] * saturate(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * saturate(self.r[2] + self.r[2])) >> 15;
        self.sp = saturate(wd1 + wd2);

        // FILTEZ
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * saturate(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = saturate(sz);

        // PREDIC
        self.s = saturate(self.sp + self.sz);
    }
}
