import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the next token is drawn from a logit vector.
public struct SamplingParameters: Sendable, Equatable {
    /// Logits are divided by this before softmax; 0 means greedy (exact argmax, lowest id on ties).
    public var temperature: Float
    /// Nucleus sampling: keep the fewest most-probable tokens whose probability sums to ≥ topP.
    /// 1 keeps everything.
    public var topP: Float
    /// Keep only the `topK` most probable tokens; 0 keeps everything.
    public var topK: Int

    /// Sampling parameters; the defaults sample from the full tempered distribution.
    public init(temperature: Float = 1, topP: Float = 1, topK: Int = 0) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)
}

/// One sampled token with the quantities RL training needs.
public struct SampledToken: Sendable, Equatable {
    /// The token id.
    public var id: Int
    /// log p(id) under softmax(logits / T) over the full vocabulary (T = 1 when greedy). Top-k/top-p
    /// truncation is not renormalised into it: it is the policy's log-prob, as trainers recompute it.
    public var logProb: Float
    /// Entropy in nats of that same full-vocabulary distribution.
    public var entropy: Float
}

/// Draws tokens from logits with temperature, top-k and top-p, using a caller-supplied generator.
///
/// Holds one vocabulary-sized scratch buffer, so sampling allocates only for the truncated
/// candidate list. Not thread-safe: one sampler per engine thread.
public final class Sampler {
    /// The vocabulary size this sampler's scratch holds.
    public let vocabularySize: Int
    /// The instruction path of the softmax and the draw (`ck_sampling_softmax`, `ck_sample_index`).
    public let path: KernelPath
    private let probabilities: UnsafeMutablePointer<Float>

    /// A sampler for vectors of `vocabularySize` logits.
    public init(vocabularySize: Int, path: KernelPath = .best) {
        self.vocabularySize = vocabularySize
        self.path = path
        probabilities = .allocate(capacity: max(vocabularySize, 1))
    }

    deinit { probabilities.deallocate() }

    /// Samples one token from `logits` (vocabularySize entries).
    ///
    /// Consumes exactly one draw from `generator` unless greedy (then none). Ties in greedy mode go
    /// to the lowest id. The top-p nucleus is found without sorting the whole vocabulary: only
    /// tokens above a probability threshold are sorted, and the threshold is lowered until they
    /// cover `topP` (the nucleus is always a prefix of the descending order, so this is exact).
    public func sample(
        _ logits: UnsafePointer<Float>, parameters: SamplingParameters, using generator: inout some RandomNumberGenerator
    ) -> SampledToken {
        let n = vocabularySize
        let greedy = parameters.temperature <= 0
        let inverseT = greedy ? 1 : 1 / parameters.temperature
        // p_i = exp(z_i/T − max) / Σ, with lse over the tempered logits; entropy = lse − E[z/T].
        let distribution = ck_sampling_softmax(path.cPath, logits, Int32(n), inverseT, probabilities)
        let maximum = distribution.maximum
        let logSum = Float(distribution.log_sum)
        let entropy = max(0, Float(distribution.log_sum - distribution.expectation))
        func result(_ id: Int) -> SampledToken {
            SampledToken(id: id, logProb: (logits[id] - maximum) * inverseT - logSum, entropy: entropy)
        }
        let argmax = Int(distribution.argmax)
        if greedy { return result(argmax) }

        let truncates = parameters.topK > 0 && parameters.topK < n || parameters.topP < 1
        if !truncates {
            let u = Float(generator.nextUnitInterval())
            let index = Int(ck_sample_index(path.cPath, probabilities, Int32(n), u))
            return result(index >= 0 ? index : argmax)  // −1: u landed in the rounding gap above the sum
        }
        let candidates = nucleus(parameters)
        var mass: Float = 0
        for id in candidates { mass += probabilities[id] }
        let u = Float(generator.nextUnitInterval()) * mass
        var cumulative: Float = 0
        for id in candidates {
            cumulative += probabilities[id]
            if u < cumulative { return result(id) }
        }
        return result(candidates[candidates.count - 1])
    }

    /// The kept token ids in descending probability (ties: lower id first) after top-k then top-p.
    func nucleus(_ parameters: SamplingParameters) -> [Int] {
        let n = vocabularySize
        let k = parameters.topK > 0 ? min(parameters.topK, n) : n
        let p = min(max(parameters.topP, 0), 1)
        var threshold: Float = 1e-3
        while true {
            var candidates: [Int] = []
            var covered: Float = 0
            for i in 0..<n where probabilities[i] >= threshold {
                candidates.append(i)
                covered += probabilities[i]
            }
            let enough = candidates.count >= k || covered >= p - 1e-6 || threshold == 0
            if enough {
                candidates.sort { probabilities[$0] > probabilities[$1] || probabilities[$0] == probabilities[$1] && $0 < $1 }
                if candidates.count > k { candidates.removeLast(candidates.count - k) }
                var cumulative: Float = 0
                for (index, id) in candidates.enumerated() {
                    cumulative += probabilities[id]
                    if cumulative >= p { return Array(candidates.prefix(index + 1)) }
                }
                return candidates
            }
            threshold = threshold > 1e-12 ? threshold * 1e-3 : 0
        }
    }

    /// Reference for the kept set and its renormalised probabilities: a full sort in Double.
    public static func naiveDistribution(
        _ logits: [Float], parameters: SamplingParameters
    ) -> [(id: Int, probability: Double)] {
        let t = Double(parameters.temperature <= 0 ? 1 : parameters.temperature)
        let m = Double(logits.max() ?? 0)
        let weights = logits.map { exp((Double($0) - m) / t) }
        let total = weights.reduce(0, +)
        var order = Array(logits.indices).sorted { weights[$0] > weights[$1] || weights[$0] == weights[$1] && $0 < $1 }
        if parameters.temperature <= 0 { order = [order[0]] }
        if parameters.topK > 0 { order = Array(order.prefix(parameters.topK)) }
        var kept: [Int] = []
        var cumulative = 0.0
        for id in order {
            kept.append(id)
            cumulative += weights[id] / total
            if cumulative >= Double(parameters.topP) { break }
        }
        let mass = kept.reduce(0) { $0 + weights[$1] }
        return kept.map { ($0, weights[$0] / mass) }
    }
}
